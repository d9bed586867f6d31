// emberctl: run a command in a throw-away ember microVM, talk to ember's API, manage warm
// pools. emberctl/README.md describes it.
#include "emberctl/cli.h"

int main(int argc, char** argv) { return ember::ctl::emberctl_main(argc, argv); }
