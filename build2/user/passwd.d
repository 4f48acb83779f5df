build2/user/passwd.o: user/passwd.c user/passwd.h
user/passwd.h:
