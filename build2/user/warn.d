build2/user/warn.o: user/warn.c user/warn.h user/model.h \
 include/tktrace.h user/util.h
user/warn.h:
user/model.h:
include/tktrace.h:
user/util.h:
