build2/user/cli.o: user/cli.c user/cli.h user/util.h
user/cli.h:
user/util.h:
