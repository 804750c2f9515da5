#!/usr/bin/env bash
# `make down`: stops what `make up` started, by the pid in $WORKFLOWS_VAR_DIR/up.pid (honcho).
# honcho runs each process in its own session, so its process group holds only honcho: the
# groups of its children are noted first, honcho is sent SIGTERM (it stops them, SIGKILL after
# 5 s) and any group still alive after that gets SIGKILL.
set -uo pipefail
cd "$(dirname "$0")/.."
var=${WORKFLOWS_VAR_DIR:-$PWD/var}
pidfile=$var/up.pid
[ -f "$pidfile" ] || { echo "down: nothing to stop (no $pidfile)"; exit 0; }
pid=$(cat "$pidfile")
if ! kill -0 "$pid" 2>/dev/null || ! grep -q honcho "/proc/$pid/cmdline" 2>/dev/null; then
  echo "down: pid $pid from $pidfile is not running make up; removing the file"
  rm -f "$pidfile"
  exit 0
fi

descendants() {  # every pid under $1, from /proc
  local child
  for child in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}
# The process groups honcho made (never its own: that may be make's or the caller's).
own=$(ps -o pgid= -p "$pid" | tr -d ' ')
mine=$(ps -o pgid= -p $$ | tr -d ' ')
groups=$(for p in $(descendants "$pid"); do ps -o pgid= -p "$p" 2>/dev/null; done \
  | tr -d ' ' | sort -u | grep -vx -e "$own" -e "$mine")

kill -TERM "$pid"
for _ in $(seq 1 100); do  # honcho's own deadline is 5 s
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
left=0
for g in $groups; do
  if kill -0 -- "-$g" 2>/dev/null; then
    left=1
    kill -KILL -- "-$g" 2>/dev/null
  fi
done
rm -f "$pidfile"
[ "$left" = 0 ] && echo "down: stopped (pid $pid)" || echo "down: stopped (pid $pid; SIGKILL for what was left)"
