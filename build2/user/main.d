build2/user/main.o: user/main.c user/cgroup.h user/cli.h \
 user/cmd_report.h user/gha.h user/model.h include/tktrace.h user/util.h \
 user/report.h user/html.h user/launch.h user/marks.h user/output.h \
 user/record.h user/sample.h user/tracer.h user/warn.h user/watch.h
user/cgroup.h:
user/cli.h:
user/cmd_report.h:
user/gha.h:
user/model.h:
include/tktrace.h:
user/util.h:
user/report.h:
user/html.h:
user/launch.h:
user/marks.h:
user/output.h:
user/record.h:
user/sample.h:
user/tracer.h:
user/warn.h:
user/watch.h:
