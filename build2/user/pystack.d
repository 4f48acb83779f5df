build2/user/pystack.o: user/pystack.c user/pystack.h include/tktrace.h \
 user/util.h
user/pystack.h:
include/tktrace.h:
user/util.h:
