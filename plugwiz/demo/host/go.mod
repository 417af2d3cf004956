module example.com/plugwiz-demo

go 1.19
