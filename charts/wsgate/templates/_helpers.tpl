{{/*
Names, labels and value checks shared by every template. Objects are named
<fullname>-<component> (the operator's: <fullname>-operator), and every object carries
app.kubernetes.io/name, instance and component.
*/}}

{{- define "wsgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's base name; contains the chart name unless nameOverride says otherwise. */}}
{{- define "wsgate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* <fullname>-operator, short enough for "-leader-election" and "-metrics" suffixes. */}}
{{- define "wsgate.operator.fullname" -}}
{{- printf "%s-operator" (include "wsgate.fullname" .) | trunc 46 | trimSuffix "-" }}
{{- end }}

{{- define "wsgate.operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "wsgate.operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "wsgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels. Call with (dict "context" $ "component" "operator"). */}}
{{- define "wsgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wsgate.name" .context }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Every object's labels. Call with (dict "context" $ "component" "operator"). */}}
{{- define "wsgate.labels" -}}
{{ include "wsgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .context.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .context.Release.Service }}
app.kubernetes.io/part-of: wsgate
helm.sh/chart: {{ include "wsgate.chart" .context }}
{{- with .context.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The operator's image reference; the tag defaults to the chart's appVersion. */}}
{{- define "wsgate.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* Proxies default to this image (spec.image unset): the operator's own unless proxyImage says otherwise. */}}
{{- define "wsgate.proxyImage" -}}
{{- default (include "wsgate.image" .) .Values.proxyImage }}
{{- end }}

{{/*
PromQL label matchers of the operator's series: metrics.prometheusRule.operatorTargets, or
what prometheus-operator sets when it scrapes the chart's metrics Service.
*/}}
{{- define "wsgate.operatorTargets" -}}
{{- if .Values.metrics.prometheusRule.operatorTargets }}
{{- .Values.metrics.prometheusRule.operatorTargets }}
{{- else }}
{{- printf "namespace=%q, service=%q" .Release.Namespace (printf "%s-metrics" (include "wsgate.operator.fullname" .)) }}
{{- end }}
{{- end }}

{{/* Contradictory values fail the render with a message naming them. */}}
{{- define "wsgate.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail "leaderElection.enabled=false needs replicaCount=1: two operators without a leader would fight over every object" }}
{{- end }}
{{- if and .Values.podDisruptionBudget.enabled (hasKey .Values.podDisruptionBudget "minAvailable") (hasKey .Values.podDisruptionBudget "maxUnavailable") }}
{{- fail "podDisruptionBudget: set minAvailable or maxUnavailable, not both" }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.metrics.service.enabled) }}
{{- fail "metrics.serviceMonitor.enabled needs metrics.service.enabled: the ServiceMonitor selects the metrics Service" }}
{{- end }}
{{- if eq (int .Values.metrics.port) (int .Values.health.port) }}
{{- fail "metrics.port and health.port must differ: probes stay plain HTTP on their own listener" }}
{{- end }}
{{- range .Values.metrics.readers }}
{{- if and (eq .kind "ServiceAccount") (not .namespace) }}
{{- fail (printf "metrics.readers: ServiceAccount %s needs a namespace" .name) }}
{{- end }}
{{- end }}
{{- range .Values.secretsNamespaces }}
{{- if eq . "*" }}
{{- fail "secretsNamespaces: list namespaces; Secrets are never granted cluster-wide" }}
{{- end }}
{{- end }}
{{- end }}
