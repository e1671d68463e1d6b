"""The risk service: margin agreements between member pairs (gateway API) and the watcher process
(``reponet risk``) that values every repo and calls margin on the lender's behalf over the gateway's REST API."""
