build2/user/model.o: user/model.c user/model.h include/tktrace.h \
 user/util.h user/pystack.h
user/model.h:
include/tktrace.h:
user/util.h:
user/pystack.h:
