module github.com/seams-dev/seams

go 1.26
