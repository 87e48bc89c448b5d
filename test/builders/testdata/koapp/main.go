// Command koapp is the program the builder tests build with ko.
package main

import "fmt"

func main() { fmt.Println("built by ko") }
