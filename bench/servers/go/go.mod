module weft/bench/servers/go

go 1.19
