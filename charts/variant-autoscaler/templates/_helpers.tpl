{{/* The name of one of the manager's own objects: namePrefix + suffix. */}}
{{- define "va.name" -}}
{{- printf "%s%s" .root.Values.namePrefix .suffix | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object of the chart. */}}
{{- define "va.commonLabels" -}}
app.kubernetes.io/part-of: variant-autoscaler
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Labels that select the manager's pods (as config/manager does). */}}
{{- define "va.selectorLabels" -}}
app.kubernetes.io/name: variant-autoscaler
control-plane: controller-manager
{{- end -}}

{{/* Labels of the RBAC objects. */}}
{{- define "va.rbacLabels" -}}
{{ include "va.commonLabels" . }}
app.kubernetes.io/name: variant-autoscaler
app.kubernetes.io/component: rbac
{{- end -}}

{{/* Labels of the manager's ConfigMaps. */}}
{{- define "va.configLabels" -}}
{{ include "va.commonLabels" . }}
app.kubernetes.io/name: variant-autoscaler
{{- end -}}

{{/* The manager's ServiceAccount. */}}
{{- define "va.serviceAccount" -}}
{{ include "va.name" (dict "root" . "suffix" "controller-manager") }}
{{- end -}}

{{/* The manager's image reference. */}}
{{- define "va.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* Where the Prometheus credentials are mounted. */}}
{{- define "va.promCADir" -}}/etc/variant-autoscaler/prometheus-ca{{- end -}}
{{- define "va.promTokenDir" -}}/etc/variant-autoscaler/prometheus-token{{- end -}}
{{- define "va.promClientDir" -}}/etc/variant-autoscaler/prometheus-client{{- end -}}

{{/* Fails on values the manager would refuse, before anything is applied. */}}
{{- define "va.validate" -}}
{{- if not (has .Values.actuation (list "metrics" "scale")) -}}
{{- fail (printf "actuation %q: must be \"metrics\" or \"scale\"" .Values.actuation) -}}
{{- end -}}
{{- if not (has .Values.loadSource (list "prometheus" "none" "synthetic")) -}}
{{- fail (printf "loadSource %q: must be prometheus, none or synthetic" .Values.loadSource) -}}
{{- end -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.leaderElection.enabled) -}}
{{- fail "replicas > 1 needs leaderElection.enabled: two active managers would fight over the same workloads" -}}
{{- end -}}
{{- if and .Values.prometheus.tokenSecret.name (not (hasPrefix "https://" .Values.prometheus.url)) -}}
{{- fail "prometheus.tokenSecret needs an https:// prometheus.url: the manager never sends its token over plain HTTP" -}}
{{- end -}}
{{- range $k, $v := .Values.config.operator -}}
{{- if hasPrefix "PROMETHEUS_" $k -}}
{{- fail (printf "config.operator.%s: set the Prometheus connection under prometheus: instead" $k) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The rules of files/role.yaml by kind: {ClusterRole: [...], Role: [...]}. */}}
{{- define "va.generatedRules" -}}
{{- $out := dict -}}
{{- range (.Files.Get "files/role.yaml" | splitList "\n---") -}}
{{- $doc := fromYaml . -}}
{{- if $doc.kind -}}
{{- $_ := set $out $doc.kind $doc.rules -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}
