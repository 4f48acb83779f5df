build2/user/safeopen.o: user/safeopen.c user/safeopen.h
user/safeopen.h:
