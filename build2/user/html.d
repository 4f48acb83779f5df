build2/user/html.o: user/html.c user/html.h user/model.h \
 include/tktrace.h user/util.h user/report.h user/cli.h user/pyreport.h \
 user/json.h
user/html.h:
user/model.h:
include/tktrace.h:
user/util.h:
user/report.h:
user/cli.h:
user/pyreport.h:
user/json.h:
