module example.com/koapp

go 1.26
