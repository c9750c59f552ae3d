ò
"serve*2.15.02v2.15.0-0-g0—
-
serving_default_xPlaceholder*
dtype0
1
wVarHandleOp*
dtype0*
shared_namew
ê
StatefulPartitionedCallStatefulPartitionedCallserving_default_xw*)
f$R"
 __inference_signature_wrapper_42*
Tin
00*
Tout
0
*
saver_filenamePlaceholder*
dtype0
m
StatefulPartitionedCall_1StatefulPartitionedCallsaver_filenamew*$
fR
__inference__traced_save_77
p
StatefulPartitionedCall_2StatefulPartitionedCallsaver_filenamew*'
f"R 
__inference__traced_restore_88«	
|
"
 __inference_signature_wrapper_42V
StatefulPartitionedCallStatefulPartitionedCallxw*
fR
__inference_call_33
€

__inference