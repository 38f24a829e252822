#!/bin/sh
# Prints an RPM %files list for the folders that packaging/install.sh fills as
# it grows (systemd units, the user@.service drop-in, modules-load, default
# configs), so that u7s.spec keeps building when a file is added there, with
# the attributes each kind must have: everything root-owned, mode as installed
# (install.sh never sets group/other write bits), files under /etc as
# %config(noreplace).
# Usage: packaging/rpm-filelist.sh BUILDROOT [own:|dir:]DIR...
#   DIR       a folder other packages own too: list what is inside it
#   own:DIR   a folder of u7s's own: list it as %dir, and what is inside it
#   dir:DIR   list only the folder itself as %dir (shared with podsec, say)
# A DIR that install.sh did not create is skipped.
set -eu

buildroot=${1:?usage: rpm-filelist.sh BUILDROOT [own:|dir:]DIR...}
shift

entry() {
    # $1: a path inside the package; $2: "dir" or "file"
    case $1 in
        *'"'*|*'
'*)
            echo "rpm-filelist.sh: refusing a path rpm cannot quote: $1" >&2
            exit 1 ;;
    esac
    if [ "$2" = dir ]; then
        printf '%%dir %%attr(-,root,root) "%s"\n' "$1"
    else
        case $1 in
            /etc/*) printf '%%config(noreplace) %%attr(-,root,root) "%s"\n' "$1" ;;
            *) printf '%%attr(-,root,root) "%s"\n' "$1" ;;
        esac
    fi
}

for arg in "$@"; do
    case $arg in
        own:*) dir=${arg#own:}; kind=own ;;
        dir:*) dir=${arg#dir:}; kind=dir ;;
        *) dir=$arg; kind=contents ;;
    esac
    [ -d "$buildroot$dir" ] || continue
    if [ "$kind" != contents ]; then entry "$dir" dir; fi
    if [ "$kind" = dir ]; then continue; fi
    (cd "$buildroot$dir" && find . -mindepth 1 | LC_ALL=C sort) | while IFS= read -r rel; do
        path="$dir/${rel#./}"
        if [ -d "$buildroot$path" ] && [ ! -L "$buildroot$path" ]; then
            entry "$path" dir
        else
            entry "$path" file
        fi
    done
done
