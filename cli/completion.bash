# cli/completion.bash — bash completion for vpcbpf(8): the candidates come from vpcbpf itself
# (vpcbpf --complete -- WORDS...), out of the object table and the grammar that its help prints.
# Installed as $(PREFIX)/share/bash-completion/completions/vpcbpf by make install.

_vpcbpf() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} IFS=$'\n'
	local words=("${COMP_WORDS[@]:1:COMP_CWORD}")

	case $prev in
		-d | --pin-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
		-b | --batch) COMPREPLY=($(compgen -f -- "$cur")); return ;;
		-n | --netns) COMPREPLY=($(compgen -W "$(ip netns list 2>/dev/null | cut -d' ' -f1)" -- "$cur")); return ;;
		dev) COMPREPLY=($(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur")); return ;;
	esac
	COMPREPLY=($("${COMP_WORDS[0]}" --complete -- "${words[@]}" 2>/dev/null))
	# apply FILE: file names where vpcbpf has no word to offer
	if [ ${#COMPREPLY[@]} -eq 0 ] && [[ " ${words[*]} " == *" apply "* ]]; then
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}
complete -F _vpcbpf vpcbpf
