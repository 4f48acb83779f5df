build2/user/marks.o: user/marks.c user/marks.h user/safeopen.h
user/marks.h:
user/safeopen.h:
