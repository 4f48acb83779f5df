build2/user/launch.o: user/launch.c user/launch.h user/cli.h \
 user/passwd.h
user/launch.h:
user/cli.h:
user/passwd.h:
