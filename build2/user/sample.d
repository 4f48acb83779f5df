build2/user/sample.o: user/sample.c user/sample.h
user/sample.h:
