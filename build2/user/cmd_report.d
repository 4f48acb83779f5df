build2/user/cmd_report.o: user/cmd_report.c user/cmd_report.h user/cli.h \
 user/html.h user/model.h include/tktrace.h user/util.h user/report.h \
 user/replay.h user/record.h user/safeopen.h
user/cmd_report.h:
user/cli.h:
user/html.h:
user/model.h:
include/tktrace.h:
user/util.h:
user/report.h:
user/replay.h:
user/record.h:
user/safeopen.h:
