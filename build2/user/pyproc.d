build2/user/pyproc.o: user/pyproc.c user/pyproc.h include/tktrace.h \
 user/pystack.h user/util.h
user/pyproc.h:
include/tktrace.h:
user/pystack.h:
user/util.h:
