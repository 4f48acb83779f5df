build2/user/cmd_kmsg.o: user/cmd_kmsg.c user/cmd_report.h user/cli.h \
 user/kmsg.h user/replay.h user/model.h include/tktrace.h user/util.h \
 user/record.h user/report.h
user/cmd_report.h:
user/cli.h:
user/kmsg.h:
user/replay.h:
user/model.h:
include/tktrace.h:
user/util.h:
user/record.h:
user/report.h:
