"""The labelling page and its script, served by `rlhf_t2i.app` as they are."""
