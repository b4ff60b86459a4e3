module weft/bench/twins/servers/go

go 1.19
