:8
6
dDecodeProtoV2*"/etc/passwd
descriptor_source