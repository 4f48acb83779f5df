build2/user/record.o: user/record.c user/record.h user/util.h \
 user/model.h include/tktrace.h
user/record.h:
user/util.h:
user/model.h:
include/tktrace.h:
