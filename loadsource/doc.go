// Package loadsource holds the implementations of modelgroup.LoadSource: the
// operator's Prometheus source (one refresher reading every group's load with
// a fixed number of grouped queries), a programmable in-memory source for
// tests and the load harness, and a synthetic source for the demo.
//
// Every source answers Load from memory and reports, on its Changes channel,
// the groups whose load moved; missing data is a reading that is not
// Available, never zero load.
package loadsource
