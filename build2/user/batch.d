build2/user/batch.o: user/batch.c user/batch.h user/util.h \
 include/tktrace.h
user/batch.h:
user/util.h:
include/tktrace.h:
