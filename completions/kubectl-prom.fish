# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kubectl_prom_global_optspecs
    string join \n kubeconfig= context= cluster= user= n/namespace= A/all-namespaces request-timeout= s/server= token= as= as-group= as-uid= insecure-skip-tls-verify certificate-authority= client-certificate= client-key= tls-server-name= cache-dir= o/output= y/yes dry-run q/quiet v/verbose no-color h/help V/version
end

function __fish_kubectl_prom_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_kubectl_prom_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_kubectl_prom_using_subcommand
    set -l cmd (__fish_kubectl_prom_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -l kubeconfig -d 'Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -l context -d 'The name of the kubeconfig context to use (`doctor` takes it several times: one report over those clusters)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -l cluster -d 'The name of the kubeconfig cluster to use' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -l user -d 'The name of the kubeconfig user to use' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -s n -l namespace -d 'The namespace to look in (default: the context\'s namespace)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -l request-timeout -d 'How long to wait for a single API request, e.g. 30s, 1m (0 = no limit); also bounds connecting and a credential plugin' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -s s -l server -d 'The address of the API server (replaces the kubeconfig cluster\'s)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -l token -d 'Bearer token for the API server (replaces the kubeconfig user\'s credentials)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -l as -d 'Username to impersonate (a user or system:serviceaccount:NAMESPACE:NAME); the permission check answers for it' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -l as-group -d 'Group to impersonate; repeat for several groups' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -l as-uid -d 'UID to impersonate' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -l certificate-authority -d 'Path to a CA bundle to verify the API server with' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -l client-certificate -d 'Path to a client certificate for TLS' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -l client-key -d 'Path to a client key for TLS' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -l tls-server-name -d 'Server name to use when verifying the API server\'s certificate' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -l cache-dir -d 'Accepted for kubectl compatibility; kubectl-prom keeps no discovery cache' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -s o -l output -d 'Output format' -r -f -a "human\t'Readable text for a person'
json\t'Stable, parseable JSON on stdout'"
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -s A -l all-namespaces -d 'Look in every namespace'
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -l insecure-skip-tls-verify -d 'Do not verify the API server\'s certificate (insecure)'
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -s y -l yes -d 'Apply changes without asking for confirmation'
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -l dry-run -d 'Show the plan and send every change with dryRun=All; nothing is changed'
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -s q -l quiet -d 'Print only results and errors'
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -s v -l verbose -d 'More detail: API request counts, raw API errors (tokens are never printed)'
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -l no-color -d 'Never use colour (also: the NO_COLOR environment variable)'
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -s V -l version -d 'Print version'
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -f -a "reload" -d 'Validate and hot-reload Prometheus\'s configuration on every replica, and verify it took effect'
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -f -a "resize" -d 'Grow Prometheus\'s data volume(s) safely, for every install flavour'
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -f -a "doctor" -d 'Find what is wrong with a Prometheus server and say how to fix it'
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -f -a "fix-perms" -d 'Make Prometheus\'s data directory writable the Kubernetes way (fsGroup), not with chmod 777'
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -f -a "completion" -d 'Print a shell completion script, or install kubectl\'s plugin completion helper'
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -f -a "version" -d 'Print the version, git commit and build target'
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -f -a "__complete" -d 'kubectl\'s plugin completion protocol (called by `kubectl_complete-prom`)'
complete -c kubectl-prom -n "__fish_kubectl_prom_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -l timeout -d 'How long to wait for the ConfigMap to reach the pods and for rollouts, e.g. 2m' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -l kubeconfig -d 'Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -l context -d 'The name of the kubeconfig context to use (`doctor` takes it several times: one report over those clusters)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -l cluster -d 'The name of the kubeconfig cluster to use' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -l user -d 'The name of the kubeconfig user to use' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -s n -l namespace -d 'The namespace to look in (default: the context\'s namespace)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -l request-timeout -d 'How long to wait for a single API request, e.g. 30s, 1m (0 = no limit); also bounds connecting and a credential plugin' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -s s -l server -d 'The address of the API server (replaces the kubeconfig cluster\'s)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -l token -d 'Bearer token for the API server (replaces the kubeconfig user\'s credentials)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -l as -d 'Username to impersonate (a user or system:serviceaccount:NAMESPACE:NAME); the permission check answers for it' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -l as-group -d 'Group to impersonate; repeat for several groups' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -l as-uid -d 'UID to impersonate' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -l certificate-authority -d 'Path to a CA bundle to verify the API server with' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -l client-certificate -d 'Path to a client certificate for TLS' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -l client-key -d 'Path to a client key for TLS' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -l tls-server-name -d 'Server name to use when verifying the API server\'s certificate' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -l cache-dir -d 'Accepted for kubectl compatibility; kubectl-prom keeps no discovery cache' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -s o -l output -d 'Output format' -r -f -a "human\t'Readable text for a person'
json\t'Stable, parseable JSON on stdout'"
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -s y -l yes -d 'Apply changes without asking for confirmation'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -l dry-run -d 'Show the plan and send every change with dryRun=All; nothing is changed'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -l enable-lifecycle -d 'If the lifecycle API is off, add --web.enable-lifecycle (rolls the pods), then reload'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -l no-validate -d 'Do not validate the configuration before reloading'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -s A -l all-namespaces -d 'Look in every namespace'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -l insecure-skip-tls-verify -d 'Do not verify the API server\'s certificate (insecure)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -s q -l quiet -d 'Print only results and errors'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -s v -l verbose -d 'More detail: API request counts, raw API errors (tokens are never printed)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -l no-color -d 'Never use colour (also: the NO_COLOR environment variable)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand reload" -s V -l version -d 'Print version'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -l size -d 'The new size of every data volume, e.g. 1300Gi' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -l increase -d 'Grow every data volume by a percentage, rounded up to a whole Gi, e.g. 25%' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -l add -d 'Grow every data volume by an amount, e.g. 100Gi' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -l timeout -d 'How long to wait for the volumes to grow, e.g. 10m' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -l kubeconfig -d 'Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -l context -d 'The name of the kubeconfig context to use (`doctor` takes it several times: one report over those clusters)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -l cluster -d 'The name of the kubeconfig cluster to use' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -l user -d 'The name of the kubeconfig user to use' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -s n -l namespace -d 'The namespace to look in (default: the context\'s namespace)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -l request-timeout -d 'How long to wait for a single API request, e.g. 30s, 1m (0 = no limit); also bounds connecting and a credential plugin' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -s s -l server -d 'The address of the API server (replaces the kubeconfig cluster\'s)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -l token -d 'Bearer token for the API server (replaces the kubeconfig user\'s credentials)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -l as -d 'Username to impersonate (a user or system:serviceaccount:NAMESPACE:NAME); the permission check answers for it' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -l as-group -d 'Group to impersonate; repeat for several groups' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -l as-uid -d 'UID to impersonate' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -l certificate-authority -d 'Path to a CA bundle to verify the API server with' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -l client-certificate -d 'Path to a client certificate for TLS' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -l client-key -d 'Path to a client key for TLS' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -l tls-server-name -d 'Server name to use when verifying the API server\'s certificate' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -l cache-dir -d 'Accepted for kubectl compatibility; kubectl-prom keeps no discovery cache' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -s o -l output -d 'Output format' -r -f -a "human\t'Readable text for a person'
json\t'Stable, parseable JSON on stdout'"
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -s y -l yes -d 'Apply changes without asking for confirmation'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -l dry-run -d 'Show the plan and send every change with dryRun=All; nothing is changed'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -l allow-expansion -d 'Also set allowVolumeExpansion: true on the StorageClass if it is off (a cluster-wide change; confirmed separately)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -s A -l all-namespaces -d 'Look in every namespace'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -l insecure-skip-tls-verify -d 'Do not verify the API server\'s certificate (insecure)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -s q -l quiet -d 'Print only results and errors'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -s v -l verbose -d 'More detail: API request counts, raw API errors (tokens are never printed)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -l no-color -d 'Never use colour (also: the NO_COLOR environment variable)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand resize" -s V -l version -d 'Print version'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -l fail-on -d 'Exit 1 when a finding at or above this severity is found' -r -f -a "warning\t''
critical\t''"
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -l from-dump -d 'Run the checks offline on a `kubectl cluster-info dump --output-directory` directory; repeat it for several clusters (one directory each, one report)' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -l context-glob -d 'Check every kubeconfig context whose name matches this glob (`*` any text, `?` one character), e.g. \'prod-*\'' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -l parallel -d 'With several clusters: how many are checked at once' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -l cluster-timeout -d 'With several clusters: the longest one cluster may take; a cluster still running then is reported as not checked and the others are not held up, e.g. 30s' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -l kubeconfig -d 'Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -l context -d 'The name of the kubeconfig context to use (`doctor` takes it several times: one report over those clusters)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -l cluster -d 'The name of the kubeconfig cluster to use' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -l user -d 'The name of the kubeconfig user to use' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -s n -l namespace -d 'The namespace to look in (default: the context\'s namespace)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -l request-timeout -d 'How long to wait for a single API request, e.g. 30s, 1m (0 = no limit); also bounds connecting and a credential plugin' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -s s -l server -d 'The address of the API server (replaces the kubeconfig cluster\'s)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -l token -d 'Bearer token for the API server (replaces the kubeconfig user\'s credentials)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -l as -d 'Username to impersonate (a user or system:serviceaccount:NAMESPACE:NAME); the permission check answers for it' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -l as-group -d 'Group to impersonate; repeat for several groups' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -l as-uid -d 'UID to impersonate' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -l certificate-authority -d 'Path to a CA bundle to verify the API server with' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -l client-certificate -d 'Path to a client certificate for TLS' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -l client-key -d 'Path to a client key for TLS' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -l tls-server-name -d 'Server name to use when verifying the API server\'s certificate' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -l cache-dir -d 'Accepted for kubectl compatibility; kubectl-prom keeps no discovery cache' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -s o -l output -d 'Output format' -r -f -a "human\t'Readable text for a person'
json\t'Stable, parseable JSON on stdout'"
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -l list-checks -d 'Print the catalog of checks and exit'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -l all-contexts -d 'Check every context of the kubeconfig, concurrently (with --context-glob: those whose name matches)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -s A -l all-namespaces -d 'Look in every namespace'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -l insecure-skip-tls-verify -d 'Do not verify the API server\'s certificate (insecure)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -s q -l quiet -d 'Print only results and errors'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -s v -l verbose -d 'More detail: API request counts, raw API errors (tokens are never printed)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -l no-color -d 'Never use colour (also: the NO_COLOR environment variable)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -l timeout -d 'How long to wait for the rollout and verification, e.g. 5m' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -l kubeconfig -d 'Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -l context -d 'The name of the kubeconfig context to use (`doctor` takes it several times: one report over those clusters)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -l cluster -d 'The name of the kubeconfig cluster to use' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -l user -d 'The name of the kubeconfig user to use' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -s n -l namespace -d 'The namespace to look in (default: the context\'s namespace)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -l request-timeout -d 'How long to wait for a single API request, e.g. 30s, 1m (0 = no limit); also bounds connecting and a credential plugin' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -s s -l server -d 'The address of the API server (replaces the kubeconfig cluster\'s)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -l token -d 'Bearer token for the API server (replaces the kubeconfig user\'s credentials)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -l as -d 'Username to impersonate (a user or system:serviceaccount:NAMESPACE:NAME); the permission check answers for it' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -l as-group -d 'Group to impersonate; repeat for several groups' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -l as-uid -d 'UID to impersonate' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -l certificate-authority -d 'Path to a CA bundle to verify the API server with' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -l client-certificate -d 'Path to a client certificate for TLS' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -l client-key -d 'Path to a client key for TLS' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -l tls-server-name -d 'Server name to use when verifying the API server\'s certificate' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -l cache-dir -d 'Accepted for kubectl compatibility; kubectl-prom keeps no discovery cache' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -s o -l output -d 'Output format' -r -f -a "human\t'Readable text for a person'
json\t'Stable, parseable JSON on stdout'"
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -s y -l yes -d 'Apply changes without asking for confirmation'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -l dry-run -d 'Show the plan and send every change with dryRun=All; nothing is changed'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -s A -l all-namespaces -d 'Look in every namespace'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -l insecure-skip-tls-verify -d 'Do not verify the API server\'s certificate (insecure)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -s q -l quiet -d 'Print only results and errors'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -s v -l verbose -d 'More detail: API request counts, raw API errors (tokens are never printed)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -l no-color -d 'Never use colour (also: the NO_COLOR environment variable)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand fix-perms" -s V -l version -d 'Print version'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -l kubeconfig -d 'Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -l context -d 'The name of the kubeconfig context to use (`doctor` takes it several times: one report over those clusters)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -l cluster -d 'The name of the kubeconfig cluster to use' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -l user -d 'The name of the kubeconfig user to use' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -s n -l namespace -d 'The namespace to look in (default: the context\'s namespace)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -l request-timeout -d 'How long to wait for a single API request, e.g. 30s, 1m (0 = no limit); also bounds connecting and a credential plugin' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -s s -l server -d 'The address of the API server (replaces the kubeconfig cluster\'s)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -l token -d 'Bearer token for the API server (replaces the kubeconfig user\'s credentials)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -l as -d 'Username to impersonate (a user or system:serviceaccount:NAMESPACE:NAME); the permission check answers for it' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -l as-group -d 'Group to impersonate; repeat for several groups' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -l as-uid -d 'UID to impersonate' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -l certificate-authority -d 'Path to a CA bundle to verify the API server with' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -l client-certificate -d 'Path to a client certificate for TLS' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -l client-key -d 'Path to a client key for TLS' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -l tls-server-name -d 'Server name to use when verifying the API server\'s certificate' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -l cache-dir -d 'Accepted for kubectl compatibility; kubectl-prom keeps no discovery cache' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -s o -l output -d 'Output format' -r -f -a "human\t'Readable text for a person'
json\t'Stable, parseable JSON on stdout'"
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -s A -l all-namespaces -d 'Look in every namespace'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -l insecure-skip-tls-verify -d 'Do not verify the API server\'s certificate (insecure)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -s q -l quiet -d 'Print only results and errors'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -s v -l verbose -d 'More detail: API request counts, raw API errors (tokens are never printed)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -l no-color -d 'Never use colour (also: the NO_COLOR environment variable)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand completion" -s V -l version -d 'Print version'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -l kubeconfig -d 'Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -l context -d 'The name of the kubeconfig context to use (`doctor` takes it several times: one report over those clusters)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -l cluster -d 'The name of the kubeconfig cluster to use' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -l user -d 'The name of the kubeconfig user to use' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -s n -l namespace -d 'The namespace to look in (default: the context\'s namespace)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -l request-timeout -d 'How long to wait for a single API request, e.g. 30s, 1m (0 = no limit); also bounds connecting and a credential plugin' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -s s -l server -d 'The address of the API server (replaces the kubeconfig cluster\'s)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -l token -d 'Bearer token for the API server (replaces the kubeconfig user\'s credentials)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -l as -d 'Username to impersonate (a user or system:serviceaccount:NAMESPACE:NAME); the permission check answers for it' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -l as-group -d 'Group to impersonate; repeat for several groups' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -l as-uid -d 'UID to impersonate' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -l certificate-authority -d 'Path to a CA bundle to verify the API server with' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -l client-certificate -d 'Path to a client certificate for TLS' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -l client-key -d 'Path to a client key for TLS' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -l tls-server-name -d 'Server name to use when verifying the API server\'s certificate' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -l cache-dir -d 'Accepted for kubectl compatibility; kubectl-prom keeps no discovery cache' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -s o -l output -d 'Output format' -r -f -a "human\t'Readable text for a person'
json\t'Stable, parseable JSON on stdout'"
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -s A -l all-namespaces -d 'Look in every namespace'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -l insecure-skip-tls-verify -d 'Do not verify the API server\'s certificate (insecure)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -s q -l quiet -d 'Print only results and errors'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -s v -l verbose -d 'More detail: API request counts, raw API errors (tokens are never printed)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -l no-color -d 'Never use colour (also: the NO_COLOR environment variable)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand version" -s V -l version -d 'Print version'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -l kubeconfig -d 'Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -l context -d 'The name of the kubeconfig context to use (`doctor` takes it several times: one report over those clusters)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -l cluster -d 'The name of the kubeconfig cluster to use' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -l user -d 'The name of the kubeconfig user to use' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -s n -l namespace -d 'The namespace to look in (default: the context\'s namespace)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -l request-timeout -d 'How long to wait for a single API request, e.g. 30s, 1m (0 = no limit); also bounds connecting and a credential plugin' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -s s -l server -d 'The address of the API server (replaces the kubeconfig cluster\'s)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -l token -d 'Bearer token for the API server (replaces the kubeconfig user\'s credentials)' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -l as -d 'Username to impersonate (a user or system:serviceaccount:NAMESPACE:NAME); the permission check answers for it' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -l as-group -d 'Group to impersonate; repeat for several groups' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -l as-uid -d 'UID to impersonate' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -l certificate-authority -d 'Path to a CA bundle to verify the API server with' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -l client-certificate -d 'Path to a client certificate for TLS' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -l client-key -d 'Path to a client key for TLS' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -l tls-server-name -d 'Server name to use when verifying the API server\'s certificate' -r
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -l cache-dir -d 'Accepted for kubectl compatibility; kubectl-prom keeps no discovery cache' -r -F
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -s o -l output -d 'Output format' -r -f -a "human\t'Readable text for a person'
json\t'Stable, parseable JSON on stdout'"
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -s A -l all-namespaces -d 'Look in every namespace'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -l insecure-skip-tls-verify -d 'Do not verify the API server\'s certificate (insecure)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -s q -l quiet -d 'Print only results and errors'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -s v -l verbose -d 'More detail: API request counts, raw API errors (tokens are never printed)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -l no-color -d 'Never use colour (also: the NO_COLOR environment variable)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand __complete" -s V -l version -d 'Print version'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand help; and not __fish_seen_subcommand_from reload resize doctor fix-perms completion version __complete help" -f -a "reload" -d 'Validate and hot-reload Prometheus\'s configuration on every replica, and verify it took effect'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand help; and not __fish_seen_subcommand_from reload resize doctor fix-perms completion version __complete help" -f -a "resize" -d 'Grow Prometheus\'s data volume(s) safely, for every install flavour'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand help; and not __fish_seen_subcommand_from reload resize doctor fix-perms completion version __complete help" -f -a "doctor" -d 'Find what is wrong with a Prometheus server and say how to fix it'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand help; and not __fish_seen_subcommand_from reload resize doctor fix-perms completion version __complete help" -f -a "fix-perms" -d 'Make Prometheus\'s data directory writable the Kubernetes way (fsGroup), not with chmod 777'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand help; and not __fish_seen_subcommand_from reload resize doctor fix-perms completion version __complete help" -f -a "completion" -d 'Print a shell completion script, or install kubectl\'s plugin completion helper'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand help; and not __fish_seen_subcommand_from reload resize doctor fix-perms completion version __complete help" -f -a "version" -d 'Print the version, git commit and build target'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand help; and not __fish_seen_subcommand_from reload resize doctor fix-perms completion version __complete help" -f -a "__complete" -d 'kubectl\'s plugin completion protocol (called by `kubectl_complete-prom`)'
complete -c kubectl-prom -n "__fish_kubectl_prom_using_subcommand help; and not __fish_seen_subcommand_from reload resize doctor fix-perms completion version __complete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
