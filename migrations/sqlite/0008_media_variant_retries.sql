-- Making an image's variants can fail for a while (the disk is full, the shared media folder is
-- unreachable). The job then stays pending (variants IS NULL) and is tried again after a delay that
-- grows with each attempt; both are kept here so the schedule survives a restart and every node
-- sharing the database sees it.
ALTER TABLE media ADD COLUMN variant_attempts INTEGER NOT NULL DEFAULT 0;
-- Unix seconds before which the worker leaves the job alone; NULL: due now.
ALTER TABLE media ADD COLUMN variant_retry_at INTEGER;
