build2/user/gha.o: user/gha.c user/gha.h user/model.h include/tktrace.h \
 user/util.h user/report.h user/warn.h user/pyreport.h user/json.h
user/gha.h:
user/model.h:
include/tktrace.h:
user/util.h:
user/report.h:
user/warn.h:
user/pyreport.h:
user/json.h:
