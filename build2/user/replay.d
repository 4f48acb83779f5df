build2/user/replay.o: user/replay.c user/replay.h user/model.h \
 include/tktrace.h user/util.h user/record.h user/report.h
user/replay.h:
user/model.h:
include/tktrace.h:
user/util.h:
user/record.h:
user/report.h:
