build2/user/tracer.o: user/tracer.c user/tracer.h user/model.h \
 include/tktrace.h user/util.h user/batch.h user/elfsym.h user/marks.h \
 user/pyproc.h build2/tktrace.skel.h
user/tracer.h:
user/model.h:
include/tktrace.h:
user/util.h:
user/batch.h:
user/elfsym.h:
user/marks.h:
user/pyproc.h:
build2/tktrace.skel.h:
