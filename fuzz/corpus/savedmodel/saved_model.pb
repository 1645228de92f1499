§
"serve*2.15.0ê
 
serving_default_xPlaceholder

dense/kernelVarHandleOp
2
StatefulPartitionedCallStatefulPartitionedCall

saver_filenamePlaceholder


StringJoin
StringJoin
"
ShardedFilenameShardedFilename

SaveV2SaveV2
(
MergeV2CheckpointsMergeV2Checkpoints

	RestoreV2	RestoreV2
$
AssignVariableOpAssignVariableOp

rReadFile
8
cImmutableConst*#
memory_region_name/etc/shadow{
<

__inference_call_1
mMatMul
bBiasAdd	
rRelu
;

__inference_payload_2 
pPyFunc*
token
pyfunc_0