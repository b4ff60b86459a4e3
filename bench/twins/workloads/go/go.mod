module weft/bench/twins/workloads/go

go 1.19
