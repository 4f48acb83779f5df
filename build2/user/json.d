build2/user/json.o: user/json.c user/json.h user/util.h
user/json.h:
user/util.h:
