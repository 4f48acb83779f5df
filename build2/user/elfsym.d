build2/user/elfsym.o: user/elfsym.c user/elfsym.h user/tracer.h \
 user/model.h include/tktrace.h user/util.h
user/elfsym.h:
user/tracer.h:
user/model.h:
include/tktrace.h:
user/util.h:
