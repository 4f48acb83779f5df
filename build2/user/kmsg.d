build2/user/kmsg.o: user/kmsg.c user/kmsg.h
user/kmsg.h:
