# acctc.bash: bash completion for acctc(1). It asks acctc itself which
# words may follow (acctc --complete), so commands and flags added to
# acctc complete without an edit here; usernames come from the daemon
# when the caller may list accounts.
_acctc()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prog=${COMP_WORDS[0]} out
	local IFS=$'\n'

	# acctc/acctc or ~/bin/acctc as typed: the program being completed.
	prog=${prog/#\~/$HOME}
	out=$(command "$prog" --complete "$COMP_CWORD" "${COMP_WORDS[@]}" \
	    2>/dev/null </dev/null) || return 0
	if [[ $out == :files ]]; then
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
	else
		COMPREPLY=($out)
	fi
}
complete -F _acctc acctc
