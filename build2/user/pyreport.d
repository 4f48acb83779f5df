build2/user/pyreport.o: user/pyreport.c user/pyreport.h user/json.h \
 user/util.h user/model.h include/tktrace.h user/pystack.h
user/pyreport.h:
user/json.h:
user/util.h:
user/model.h:
include/tktrace.h:
user/pystack.h:
