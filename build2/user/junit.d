build2/user/junit.o: user/junit.c user/junit.h user/util.h \
 user/safeopen.h
user/junit.h:
user/util.h:
user/safeopen.h:
