build2/user/report.o: user/report.c user/report.h user/model.h \
 include/tktrace.h user/util.h user/json.h user/pyreport.h
user/report.h:
user/model.h:
include/tktrace.h:
user/util.h:
user/json.h:
user/pyreport.h:
