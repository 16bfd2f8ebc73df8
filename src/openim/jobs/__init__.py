"""The msgtransfer role: work pulled from the job queue (`infra/queue.py`), off the message path.

`worker.Worker` runs a consume loop for one topic; `offline_push.OfflinePushHandler` is the handler of the
offline-push topic. runtime.py builds them for the role `msgtransfer`.
"""
