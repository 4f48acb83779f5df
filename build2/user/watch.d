build2/user/watch.o: user/watch.c user/watch.h user/cgroup.h user/cli.h \
 build2/tktrace.skel.h user/tracer.h user/model.h include/tktrace.h \
 user/util.h user/batch.h user/elfsym.h user/safeopen.h user/watch_core.h
user/watch.h:
user/cgroup.h:
user/cli.h:
build2/tktrace.skel.h:
user/tracer.h:
user/model.h:
include/tktrace.h:
user/util.h:
user/batch.h:
user/elfsym.h:
user/safeopen.h:
user/watch_core.h:
