# shellcheck shell=bash
# Process helpers shared by the scripts that start and stop the test services (sourced).

# Whether a process runs (a zombie whose parent has not reaped it yet does not).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) } # the fields after the command name, which may hold spaces
  [ "${stat:0:1}" != Z ]
}

# Prints the pid in pid file $1 if that process runs and is command $2 (not a recycled pid).
pid_of() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && echo "$pid"
}
