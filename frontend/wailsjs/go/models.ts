export namespace inference {
	
	export interface BatchStats {
	    batch_size: number;
	    execution_count: number;
	    compute_infer_ns: number;
	}
	export interface ModelStatus {
	    name: string;
	    ready: boolean;
	    state: string;
	    versions: string[];
	    inference_count: number;
	    execution_count: number;
	    success_count: number;
	    failure_count: number;
	    queue_ns: number;
	    compute_infer_ns: number;
	    reason?: string;
	    compute_input_ns: number;
	    compute_output_ns: number;
	    last_inference_ms: number;
	    batch_stats?: BatchStats[];
	}
	export interface ServerStatus {
	    address: string;
	    live: boolean;
	    ready: boolean;
	    name: string;
	    version: string;
	    models: ModelStatus[];
	    extensions?: string[];
	    tls: boolean;
	    replicas?: ServerStatus[];
	    error?: string;
	}

}

export namespace main {
	
	export interface Settings {
	    server: string;
	    model: string;
	}

}

export namespace transcribe {
	
	export interface Result {
	    transcript: transcript.Transcript;
	    outputs: string[];
	    historyId?: number;
	    reused?: boolean;
	    warnings?: string[];
	}

}

export namespace transcript {
	
	export interface Word {
	    word: string;
	    start: number;
	    end: number;
	}
	export interface Segment {
	    start: number;
	    end: number;
	    text: string;
	    words: Word[];
	}
	export interface Transcript {
	    source: string;
	    sha256: string;
	    duration: number;
	    model: string;
	    text: string;
	    segments: Segment[];
	}

}

