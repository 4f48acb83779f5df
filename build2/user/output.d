build2/user/output.o: user/output.c user/output.h user/cli.h \
 user/launch.h user/model.h include/tktrace.h user/util.h user/report.h \
 user/gha.h user/junit.h user/marks.h user/safeopen.h
user/output.h:
user/cli.h:
user/launch.h:
user/model.h:
include/tktrace.h:
user/util.h:
user/report.h:
user/gha.h:
user/junit.h:
user/marks.h:
user/safeopen.h:
