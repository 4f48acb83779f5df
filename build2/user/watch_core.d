build2/user/watch_core.o: user/watch_core.c user/watch_core.h \
 include/tktrace.h user/util.h user/json.h user/model.h
user/watch_core.h:
include/tktrace.h:
user/util.h:
user/json.h:
user/model.h:
