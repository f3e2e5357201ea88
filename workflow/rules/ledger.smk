# Rules of the ledger domain (see pipeline/ledger/): The claims ledger: every checklist item and claim of posts.md beside our measured value and a verdict.
